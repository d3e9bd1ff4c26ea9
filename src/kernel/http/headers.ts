/** Request headers the gateway reads (lower case, as Headers returns them). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const TENANT_HEADER = 'x-tenant-id';
export const TIMESTAMP_HEADER = 'x-agent-timestamp';
export const SIGNATURE_HEADER = 'x-agent-signature';
export const RECOGNITION_HEADER = 'x-paybond-agent-recognition-proof';
