export const AREA = 'disputes' as const;
