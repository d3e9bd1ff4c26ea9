export const AREA = 'settlement' as const;
