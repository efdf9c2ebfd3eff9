/** `idp-canary validate-config`: exit 0 for a usable configuration (warnings on stderr), 2 with every error. */
import { ConfigError, loadConfig } from '../config/load.js';
import { configWarnings } from '../config/warnings.js';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export async function validateConfigCommand(path: string, io: CommandIo): Promise<number> {
  try {
    const config = await loadConfig(path);
    const probes = config.idps.reduce((sum, idp) => sum + idp.sts.length, 0);
    for (const warning of configWarnings(config)) io.stderr(`${path}: warning: ${warning}\n`);
    io.stdout(`${path}: ok (${config.idps.length} IdPs, ${probes} STS probes)\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
