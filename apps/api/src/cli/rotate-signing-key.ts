// `bun run keys:rotate`: makes a new active signing key. Tokens signed with the previous key stay
// valid until they expire; every running node picks the new key up through NOTIFY.
import { loadConfig } from "@burrow/platform-core";
import { openPlatform } from "@burrow/platform-http";

const platform = await openPlatform(loadConfig());
try {
  const kid = await platform.auth.signingKeys.rotate({ type: "system" });
  console.log(`new active signing key: ${kid}`);
} finally {
  await platform.database.close();
}
