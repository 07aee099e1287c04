// Starting Debian's Chromium headless through playwright-core, for the page tests and the web
// benchmark (Playwright's own browser download cannot work offline; .ci/run installs the chromium
// package when it is missing).

import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const chromiumPath = (): string => process.env.HASTEN_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install Debian's chromium package (apt-get install -y chromium; .ci/run does) or set HASTEN_CHROMIUM`);
  return chromium.launch({
    executablePath,
    headless: true,
    // Without the networking flags Chromium keeps calling home, which a closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
