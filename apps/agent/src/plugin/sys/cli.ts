// The standalone twill plugin's entry point: bin/twill.js (built) and the source
// launcher run it. It imports the plugin and nothing else of the agent.
import { runTwill } from './main.js';

await runTwill();
