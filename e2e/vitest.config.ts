import { defineConfig } from 'vitest/config';

// The suite checks that it leaves nothing behind: per test file (sockets, child processes) and
// once at the end (processes started anywhere below it, temporary files).
export default defineConfig({
  test: {
    globalSetup: ['./src/support/global-setup.ts'],
    setupFiles: ['./src/support/leak-check.ts'],
  },
});
