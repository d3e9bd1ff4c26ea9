export const AREA = 'sso' as const;
