import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs. Request bodies are never logged; these paths catch credentials that
 * reach a log line by accident.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'paybond-gateway' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-agent-signature"]',
        'req.headers["x-paybond-agent-recognition-proof"]',
        '*.password',
        '*.token',
        '*.secret',
        '*.access_token',
        '*.refresh_token',
        '*.api_key',
      ],
      censor: '[redacted]',
    },
  });
}
