export const AREA = 'webhooks' as const;
