// otplib (with its hash and base32 libraries, about 4 MB resident) loads on the first TOTP
// operation, not at start-up: most processes never enrol or check a code.
const otplib = () => import("otplib");

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** 160 random bits, base32: the RFC 4226 recommended secret length. */
export async function newTotpSecret(): Promise<string> {
  return (await otplib()).generateSecret({ length: 20 });
}

export async function totpUri(options: { issuer: string; account: string; secret: string }): Promise<string> {
  return (await otplib()).generateURI({
    strategy: "totp",
    issuer: options.issuer,
    label: options.account,
    secret: options.secret,
    algorithm: "sha1",
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

/**
 * Checks a code at `epochSeconds`, accepting the current and the previous step (a code typed as the
 * step turns over) and nothing after `lastStep`, so an accepted step can never be used again.
 * Returns the accepted step, or undefined.
 */
export async function checkTotp(options: {
  secret: string;
  code: string;
  epochSeconds: number;
  lastStep: number | null;
}): Promise<number | undefined> {
  if (!/^\d{6}$/.test(options.code)) return undefined;
  const result = await (await otplib()).verify({
    strategy: "totp",
    secret: options.secret,
    token: options.code,
    algorithm: "sha1",
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    epoch: options.epochSeconds,
    epochTolerance: [TOTP_PERIOD_SECONDS, 0],
    ...(options.lastStep === null ? {} : { afterTimeStep: options.lastStep }),
  });
  // The matched step: the current one plus the offset the code matched at (0 or -1 here).
  return result.valid ? Math.floor(options.epochSeconds / TOTP_PERIOD_SECONDS) + result.delta : undefined;
}
