export const AREA = 'sandbox' as const;
