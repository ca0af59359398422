// The settings as the processes that start the product read them (`npm start`'s migration step
// and the server): from the environment and `.env`, validated before anything else happens, and
// on a bad configuration one line per bad setting on stderr and exit 1 (README: Settings).
import { ConfigError, loadConfig, type Config } from './config.ts';
import { loadEnvFile } from './env-file.ts';

export function loadConfigOrExit(): Config {
  loadEnvFile();
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) console.error(`config: ${problem}`);
    process.exit(1);
  }
}
