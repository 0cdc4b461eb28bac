// Run by smoke.ts with `node` (not Bun): the packages that make sense outside Bun, from node_modules.
//   node node-smoke.mjs <Burrow base URL> <public URL> <email> <password>
import { createBurrowClient, isBurrowError, unwrap } from "@burrow/client";
import { createTokenVerifier } from "@burrow/platform-auth/verify";

const [baseUrl, publicUrl, email, password] = process.argv.slice(2);
const burrow = createBurrowClient({ baseUrl, mode: "token" });
const signedIn = await burrow.signIn({ email, password });
if (signedIn.status !== "signed_in") throw new Error(`sign-in answered ${signedIn.status}`);
const me = unwrap(await burrow.api.GET("/v1/me"));
const verify = createTokenVerifier({
  jwksUrl: `${baseUrl}/.well-known/jwks.json`,
  issuer: publicUrl,
  audience: publicUrl,
});
const claims = await verify(await burrow.accessToken());
await burrow.signOut();
const wrong = await burrow.signIn({ email, password: "not the password" }).catch((error) => error);
if (!isBurrowError(wrong, "invalid_credentials"))
  throw new Error("a wrong password did not fail as invalid_credentials");
console.log(JSON.stringify({ node: process.versions.node, me: me.email, user: me.id, sub: claims.sub }));
