export {
  createBurrowClient,
  type BurrowApi,
  type BurrowClient,
  type BurrowClientOptions,
  type MfaProof,
  type Session,
  type SignedInResult,
  type SignInResult,
  type SignUpResult,
  type User,
} from "./client.ts";
export { BurrowError, ERROR_CODES, isBurrowError, unwrap, type BurrowErrorCode, type FieldError } from "./errors.ts";
export { memoryStorage, type SignedOutEvent, type Tokens, type TokenStorage } from "./tokens.ts";
export type { components, operations, paths } from "./schema.d.ts";
