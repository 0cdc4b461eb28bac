/**
 * Every `code` a Burrow problem can carry: the API's error catalogue (platform-core's
 * `ERROR_CATALOGUE`), copied here so the client has no runtime dependency on the server's packages.
 * `errors.test.ts` fails when the two lists differ.
 */
export const ERROR_CODES = [
  "validation_failed",
  "malformed_json",
  "invalid_id",
  "invalid_cursor",
  "unsupported_media_type",
  "payload_too_large",
  "not_found",
  "method_not_allowed",
  "unauthenticated",
  "invalid_credentials",
  "invalid_token",
  "invalid_link",
  "session_expired",
  "email_not_verified",
  "account_suspended",
  "mfa_required",
  "reauthentication_required",
  "mfa_enrolment_required",
  "mfa_required_by_policy",
  "email_taken",
  "weak_password",
  "password_reused",
  "forbidden",
  "csrf_rejected",
  "rate_limited",
  "too_many_attempts",
  "invalid_redirect",
  "invalid_code",
  "invalid_oauth_state",
  "oauth_failed",
  "oauth_link_required",
  "oauth_account_taken",
  "last_sign_in_method",
  "conflict",
  "not_suspended",
  "already_resolved",
  "phone_taken",
  "email_already_added",
  "email_unverified",
  "last_verified_email",
  "factor_already_confirmed",
  "second_factor_missing",
  "passkey_already_registered",
  "no_passkey",
  "role_taken",
  "role_in_use",
  "elevation_not_pending",
  "already_member",
  "account_exists",
  "slug_taken",
  "last_owner",
  "internal_error",
  "caller_gone",
  "service_unavailable",
] as const;

/**
 * A problem's `code`, or `unexpected_response` for an error answer that is not a Burrow problem (a
 * proxy's HTML 502, say).
 */
export type BurrowErrorCode = (typeof ERROR_CODES)[number] | "unexpected_response";

/** One invalid field of a request, as listed in a `validation_failed` problem. */
export interface FieldError {
  path: string;
  message: string;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * An error answer from Burrow (RFC 9457 problem details) as a typed value. Compare `code`, never the
 * title or detail: those are for people and may change.
 * @example
 * try { await client.signIn({ email, password }) }
 * catch (error) { if (isBurrowError(error, "invalid_credentials")) showMessage("Wrong email or password") }
 */
export class BurrowError extends Error {
  readonly status: number;
  readonly code: BurrowErrorCode;
  readonly title: string;
  readonly detail: string;
  /** For `validation_failed`: each invalid field. Empty otherwise. */
  readonly errors: FieldError[];
  /** Quote it to an operator: it finds the request in Burrow's log. */
  readonly requestId: string | undefined;
  /** The whole problem document, extensions included (`rule` on a weak password, for example). */
  readonly problem: Readonly<Record<string, unknown>>;

  constructor(status: number, problem: Record<string, unknown>) {
    const code = typeof problem.code === "string" && KNOWN_CODES.has(problem.code) ? problem.code : undefined;
    const title = typeof problem.title === "string" ? problem.title : `Unexpected answer (HTTP ${status})`;
    const detail = typeof problem.detail === "string" ? problem.detail : title;
    super(detail);
    this.name = "BurrowError";
    this.status = status;
    this.code = (code ?? "unexpected_response") as BurrowErrorCode;
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(problem.errors) ? (problem.errors as FieldError[]) : [];
    this.requestId = typeof problem.requestId === "string" ? problem.requestId : undefined;
    this.problem = problem;
  }

  /** The error for an answer whose body was already read (`body` is the parsed JSON, or its text). */
  static fromBody(response: Response, body: unknown): BurrowError {
    const problem = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    return new BurrowError(response.status, problem);
  }

  /** Reads an error answer's body (leaving `response` itself unread) into a BurrowError. */
  static async fromResponse(response: Response): Promise<BurrowError> {
    const body: unknown = await response
      .clone()
      .json()
      .catch(() => undefined);
    return BurrowError.fromBody(response, body);
  }
}

/**
 * Is `error` a BurrowError, with `code` if given? Narrows for TypeScript.
 * @example if (isBurrowError(error, "validation_failed")) for (const field of error.errors) mark(field.path)
 */
export function isBurrowError(error: unknown, code?: BurrowErrorCode): error is BurrowError {
  return error instanceof BurrowError && (code === undefined || error.code === code);
}

/**
 * The data of a `client.api` call, or its problem thrown as a BurrowError. openapi-fetch answers
 * `{ data, error, response }`; this turns the error half into an exception.
 * @example const { user } = unwrap(await client.api.GET("/v1/me"))
 */
export function unwrap<Data>(result: { data?: Data; error?: unknown; response: Response }): Data {
  if (!result.response.ok) throw BurrowError.fromBody(result.response, result.error);
  return result.data as Data;
}
