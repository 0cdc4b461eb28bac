// `bun run docs:email-screenshots`: renders the verification and reset emails in Chromium and saves
// the pictures that docs/email.md shows. Run it again after changing the default templates.
import { launchChromium } from "@burrow/platform-core/browser";
import { join } from "node:path";
import { createRenderer, DEFAULT_TEMPLATES } from "../src/index.ts";

const out = join(import.meta.dir, "../../../docs/images");
const renderer = createRenderer({ productName: "Burrow", brandColor: "#4f46e5" });
const shots = [
  {
    key: "auth.verify_email",
    file: "email-verify.png",
    variables: { url: "https://id.example.com/auth/verify-email?token=yfTrle0wlYrEOs2pPQ7kJ1RPCvTld7Y4cwftUdakrLM" },
  },
  {
    key: "auth.password_reset",
    file: "email-reset.png",
    variables: { url: "https://id.example.com/auth/reset-password?token=EFqcdNxTlAJnA4jh3lvJotiMA7ND-p75IEe2xlp0PRg" },
  },
];

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 640, height: 700 }, deviceScaleFactor: 1 });
  for (const shot of shots) {
    const template = DEFAULT_TEMPLATES.find((entry) => entry.key === shot.key)!;
    const email = renderer.render(await renderer.compile(shot.key, template), shot.variables);
    await page.setContent(email.html, { waitUntil: "load" });
    await page.screenshot({ path: join(out, shot.file), fullPage: true });
    console.log(`wrote docs/images/${shot.file}`);
  }
} finally {
  await browser.close();
}
