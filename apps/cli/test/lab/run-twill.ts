// `twill` from the sources as its own process (the lab tests kill one mid-way).
import { main } from '@twill/cli';

process.exitCode = await main(process.argv.slice(2));
