import { defineErrorCodes } from '../../kernel/errors.ts';

/** Sign-in and session codes. */
export const identityErrorCodes = defineErrorCodes({
  refresh_token_reused: 401,
  challenge_failed: 401,
});

type IdentityErrorCodes = typeof identityErrorCodes;
declare module '../../kernel/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface ErrorCodes extends IdentityErrorCodes {}
}
