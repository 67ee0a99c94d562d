import { z } from 'zod';

/** API key scopes (api-v1.md): acquirer operations, one merchant, or one attraction's gates. */
export const API_SCOPES = ['acquirer', 'merchant', 'gate'] as const;
export const apiScopeSchema = z.enum(API_SCOPES);
export type ApiScope = z.infer<typeof apiScopeSchema>;
