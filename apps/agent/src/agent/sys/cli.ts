// The twill-agent executable's entry point: bin/twill-agent.js runs it (built, or from
// the sources with tsx).
import { agentMain } from './main.js';

// Exits explicitly: the agent has stopped everything it serves by now, and a timer or
// socket a library kept must not hold a stopped agent alive.
process.exit(await agentMain(process.argv.slice(2)));
