import { describedEnum } from './json-schema.ts';

/** A tenant workspace. Always derived from the credential, never chosen by a header. */
export const environmentSchema = describedEnum('Environment', 'A tenant workspace: live moves real money; sandbox is simulated.', {
  live: 'Real providers, real money.',
  sandbox: 'Simulated rails; no money moves.',
});
