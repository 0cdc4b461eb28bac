// Run by smoke.ts with `node` (not Bun): the packages that make sense outside Bun, from node_modules.
//   node node-smoke.mjs <Burrow base URL> <public URL> <email> <password>
import { createBurrowClient, isBurrowError, unwrap } from "@burrow/client";
import { createTokenVerifier } from "@burrow/platform-auth/verify";
import { signWebhook, verifyWebhook } from "@burrow/platform-ops/webhook-verify";

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
// A webhook receiver on Node: a message signed as Burrow signs it verifies; a changed one does not.
const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const body = JSON.stringify({ type: "user.created", timestamp: new Date().toISOString(), data: {} });
const stamp = Math.floor(Date.now() / 1000);
const headers = {
  "webhook-id": "whd_smoke",
  "webhook-timestamp": String(stamp),
  "webhook-signature": signWebhook(secret, "whd_smoke", stamp, body),
};
const event = verifyWebhook(secret, { headers, body });
let tampered = false;
try {
  verifyWebhook(secret, { headers, body: body.replace("created", "deleted") });
} catch {
  tampered = true;
}
if (event.type !== "user.created" || !tampered) throw new Error("the webhook verifier misjudged a message");
console.log(
  JSON.stringify({ node: process.versions.node, me: me.email, user: me.id, sub: claims.sub, webhook: event.type }),
);
