import * as oidc from "openid-client";
import { z } from "zod";
import type { OAuthGitHubEndpoints } from "@burrow/platform-core";

/**
 * GitHub speaks OAuth 2.0 without OpenID Connect: no discovery, no ID token, no nonce. Who signed in
 * comes from its REST API with the access token: `/user` (the numeric `id` is the subject: a login
 * can be renamed and then taken by someone else, an address can move between accounts) and
 * `/user/emails` (only there does GitHub say which address is primary and whether it verified it).
 */

/** What a GitHub sign-in asks for: the profile, and the addresses with their verification. */
export const GITHUB_SCOPES = ["read:user", "user:email"];

/** The authorization server's metadata, built by hand: there is no discovery document to read. */
export function gitHubServerMetadata(endpoints: OAuthGitHubEndpoints): oidc.ServerMetadata {
  return {
    // No `iss` comes back from GitHub; the issuer only names the server for the library.
    issuer: new URL(endpoints.authorization).origin,
    authorization_endpoint: endpoints.authorization,
    token_endpoint: endpoints.token,
    code_challenge_methods_supported: ["S256"],
  };
}

const GitHubUser = z.object({
  id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  login: z.string().min(1).max(100),
  name: z.string().max(500).nullish(),
  avatar_url: z.string().max(2000).nullish(),
});

const GitHubEmails = z
  .array(z.object({ email: z.string().min(3).max(320), primary: z.boolean(), verified: z.boolean() }))
  .max(1000);

/** Who GitHub says the user is, in the shape an OpenID Connect sign-in gives. */
export interface GitHubIdentity {
  subject: string;
  /** The primary address, or null when GitHub lists none. */
  email: string | null;
  /** GitHub's `verified` of that primary address. */
  emailVerified: boolean;
  profile: { name: string; login: string; picture?: string };
}

/** A GitHub answer that cannot be used: its `reason` goes to the audit log (never a token or body). */
export class GitHubApiError extends Error {
  constructor(readonly reason: string) {
    super(`GitHub's API: ${reason}`);
    this.name = "GitHubApiError";
  }
}

async function getJson(client: oidc.Configuration, accessToken: string, url: string, what: string): Promise<unknown> {
  const headers = new Headers({
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
  });
  let response: Response;
  try {
    // The library sends the token as a Bearer header (never in the URL), follows no redirect, and
    // keeps the configuration's timeout and plain-http rule.
    response = await oidc.fetchProtectedResource(client, accessToken, new URL(url), "GET", null, headers);
  } catch {
    throw new GitHubApiError(`${what}_unreachable`);
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new GitHubApiError(`${what}_status_${response.status}`);
  }
  try {
    return await response.json();
  } catch {
    throw new GitHubApiError(`${what}_not_json`);
  }
}

/** Reads the signed-in GitHub user and their primary address with the access token. */
export async function fetchGitHubIdentity(
  client: oidc.Configuration,
  endpoints: OAuthGitHubEndpoints,
  accessToken: string,
): Promise<GitHubIdentity> {
  const user = GitHubUser.safeParse(await getJson(client, accessToken, endpoints.user, "user"));
  if (!user.success) throw new GitHubApiError("user_invalid");
  const emails = GitHubEmails.safeParse(await getJson(client, accessToken, endpoints.emails, "emails"));
  if (!emails.success) throw new GitHubApiError("emails_invalid");
  // The primary address only: another verified one may be an old address the user keeps for
  // notifications, and signing in by it would pick the account the user does not mean.
  let primary: z.infer<typeof GitHubEmails>[number] | undefined;
  for (const entry of emails.data) if (entry.primary) primary = entry;
  const name = user.data.name?.trim() || user.data.login;
  return {
    subject: String(user.data.id),
    email: primary?.email ?? null,
    emailVerified: primary?.verified === true,
    profile: {
      name,
      login: user.data.login,
      ...(typeof user.data.avatar_url === "string" ? { picture: user.data.avatar_url } : {}),
    },
  };
}
