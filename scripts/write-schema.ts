// Writes the published JSON Schema of the configuration file (config/idp-canary.schema.json).
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/schema.js';

writeFileSync('config/idp-canary.schema.json', `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
