// What the admin console's settings page shows: the effective configuration with every secret
// redacted, and the access-token signing keys, which an operator may rotate.
import { type Config, describeConfig, PlatformError, type RequestContext } from "@burrow/platform-core";
import type { SessionRow, SigningKeys } from "@burrow/platform-auth";
import type { PermissionResolver } from "@burrow/platform-rbac";

export const SETTINGS_READ = "settings:read";

export interface SettingsView {
  /** settings:read */
  read(actorId: string): Promise<{
    settings: { path: string; value: string }[];
    signingKeys: { kid: string; alg: string }[];
  }>;
  /** A new active signing key (signing_keys:rotate, with a recent authentication); its id. */
  rotateSigningKey(session: SessionRow, request: RequestContext): Promise<string>;
}

export function createSettingsView(options: {
  config: Config;
  signingKeys: Pick<SigningKeys, "jwks" | "rotateAs" | "load">;
  resolver: Pick<PermissionResolver, "can">;
}): SettingsView {
  return {
    async read(actorId) {
      if (!(await options.resolver.can(actorId, SETTINGS_READ)))
        throw new PlatformError("forbidden", { detail: `This needs the ${SETTINGS_READ} permission.` });
      // A process that has signed nothing yet may not have read its keys (load makes the first one).
      if (options.signingKeys.jwks().keys.length === 0) await options.signingKeys.load();
      return {
        settings: describeConfig(options.config),
        signingKeys: options.signingKeys.jwks().keys.map((key) => ({ kid: String(key.kid), alg: String(key.alg) })),
      };
    },
    rotateSigningKey: (session, request) => options.signingKeys.rotateAs(session, request),
  };
}
