/**
 * The one catalogue of error codes. Each code has an HTTP status and a safe, generic title;
 * nothing here may reveal whether an account exists or echo a secret.
 */
export const ERROR_CATALOGUE = {
  // Request shape
  validation_failed: { status: 400, title: "The request is not valid." },
  malformed_json: { status: 400, title: "The request body is not valid JSON." },
  invalid_id: { status: 400, title: "An identifier in the request is malformed." },
  invalid_cursor: { status: 400, title: "The pagination cursor is not valid." },
  unsupported_media_type: { status: 415, title: "The request body must be application/json." },
  payload_too_large: { status: 413, title: "The request body is too large." },
  not_found: { status: 404, title: "The resource was not found." },
  method_not_allowed: { status: 405, title: "The method is not allowed on this resource." },
  // Authentication
  unauthenticated: { status: 401, title: "Authentication is required." },
  invalid_credentials: { status: 401, title: "The email or password is incorrect." },
  invalid_token: { status: 401, title: "The token is not valid." },
  invalid_link: { status: 400, title: "The link is not valid, was already used, or has expired." },
  session_expired: { status: 401, title: "The session has expired or was revoked." },
  email_not_verified: { status: 403, title: "The email address has not been verified." },
  account_suspended: { status: 403, title: "The account is suspended." },
  mfa_required: { status: 401, title: "A second factor is required." },
  reauthentication_required: { status: 403, title: "Please re-authenticate to continue." },
  mfa_enrolment_required: { status: 403, title: "Set up a second factor to continue." },
  mfa_required_by_policy: { status: 403, title: "A second factor is required for this account." },
  // Accounts
  email_taken: { status: 409, title: "An account with this email already exists." },
  weak_password: { status: 422, title: "The password does not meet the password policy." },
  password_reused: { status: 422, title: "The password was used recently; choose another." },
  // Authorization
  forbidden: { status: 403, title: "You do not have permission to do this." },
  csrf_rejected: { status: 403, title: "Cross-site request rejected." },
  // Throttling
  rate_limited: { status: 429, title: "Too many requests; slow down." },
  too_many_attempts: { status: 429, title: "Too many failed attempts; try again later." },
  invalid_redirect: { status: 400, title: "The redirect target is not allowed." },
  invalid_code: { status: 400, title: "The code is not valid or has expired." },
  // Social login
  invalid_oauth_state: {
    status: 400,
    title: "The sign-in with the provider is not valid, was already used, or has expired. Start again.",
  },
  oauth_failed: { status: 400, title: "The provider did not confirm the sign-in." },
  oauth_link_required: {
    status: 409,
    title: "Sign in another way first, then link this provider from your account.",
  },
  oauth_account_taken: { status: 409, title: "This provider account is linked to another user." },
  last_sign_in_method: { status: 409, title: "This is the account's last way to sign in." },
  // Conflicts and state
  conflict: { status: 409, title: "The request conflicts with the current state." },
  not_suspended: { status: 409, title: "The user is not suspended." },
  already_resolved: { status: 409, title: "The security event is resolved already." },
  phone_taken: { status: 409, title: "This number is verified on another account." },
  email_already_added: { status: 409, title: "This address is already on your account." },
  email_unverified: { status: 409, title: "Confirm this address first." },
  last_verified_email: { status: 409, title: "The account's only verified address cannot be removed." },
  factor_already_confirmed: { status: 409, title: "This factor is already confirmed." },
  second_factor_missing: { status: 409, title: "This needs a second factor first." },
  passkey_already_registered: { status: 409, title: "This passkey is already registered." },
  no_passkey: { status: 409, title: "No passkey is registered." },
  role_taken: { status: 409, title: "A role with this key exists." },
  role_in_use: { status: 409, title: "Members still hold this role." },
  elevation_not_pending: { status: 409, title: "The elevation is not pending." },
  already_member: { status: 409, title: "The address already belongs to a member." },
  account_exists: { status: 409, title: "That address already has an account: sign in, then accept." },
  slug_taken: { status: 409, title: "That slug is taken." },
  last_owner: { status: 409, title: "An organization must keep at least one owner." },
  // Server
  internal_error: { status: 500, title: "An unexpected error occurred." },
  // Nobody reads it: the request log's status for a request dropped because its caller hung up.
  caller_gone: { status: 499, title: "The caller hung up before the answer." },
  service_unavailable: { status: 503, title: "The service is not ready." },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** One invalid field of a request, as listed in a validation problem's `errors[]`. */
export interface FieldError {
  path: string;
  message: string;
}

export interface PlatformErrorOptions {
  /** A safe, human-readable explanation for this occurrence (never a secret or internal detail). */
  detail?: string;
  errors?: FieldError[];
  /** Extra response headers, such as `Retry-After`. */
  headers?: Record<string, string>;
  /** Extra safe members of the problem document (for example `rule` for a weak password). */
  extensions?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The error every package throws for an expected failure. It carries a stable `code` from the
 * catalogue and renders as RFC 9457 problem details.
 * @example throw new PlatformError("invalid_credentials")
 */
export class PlatformError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(code: ErrorCode, options: PlatformErrorOptions = {}) {
    super(options.detail ?? ERROR_CATALOGUE[code].title, { cause: options.cause });
    this.name = "PlatformError";
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.detail = options.detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }
}

export function isPlatformError(error: unknown): error is PlatformError {
  return error instanceof PlatformError;
}

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/**
 * Renders an error as an RFC 9457 problem. Anything that is not a PlatformError becomes a bare
 * `internal_error` with no internals; the caller logs the original.
 */
export function toProblem(error: unknown, requestId?: string): Problem {
  const platformError = isPlatformError(error) ? error : new PlatformError("internal_error");
  const entry = ERROR_CATALOGUE[platformError.code];
  const problem: Problem = {
    ...platformError.extensions,
    type: `urn:burrow:error:${platformError.code}`,
    title: entry.title,
    status: platformError.status,
    detail: platformError.detail ?? entry.title,
    code: platformError.code,
  };
  if (requestId !== undefined) problem.requestId = requestId;
  if (platformError.errors !== undefined) problem.errors = platformError.errors;
  return problem;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
