/**
 * A CLI on `runCli` for cli-runner.test.ts, run as a real process: `--mode` picks what `start`
 * and the shutdown do; every resource prints `closed <name>` on stdout when it closes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, StartupInputError } from './cli-runner.js';
import { type LogLevel, OptionError, parseOptions } from './options.js';

interface FixtureOptions {
  readonly mode: string;
  readonly logLevel: LogLevel;
  readonly limit: number;
}

class FixtureOptionError extends OptionError {}

/** Like a server's socket, each resource keeps the process alive until it is closed. */
function resource(name: string, closeMs: number, fails: boolean) {
  const alive = setInterval(() => {}, 60_000);
  return {
    async close() {
      await sleep(closeMs);
      clearInterval(alive);
      process.stdout.write(`closed ${name}\n`);
      if (fails) throw new Error(`${name} would not close`);
    },
  };
}

void runCli<FixtureOptions>({
  name: 'fixture-cli',
  usage: 'Usage: fixture-cli [--mode MODE]\n',
  parse: (argv, env) =>
    parseOptions<FixtureOptions>({
      argv,
      env,
      specs: [
        { key: 'mode', flag: 'mode', kind: 'string' },
        { key: 'logLevel', flag: 'log-level', kind: 'level' },
        { key: 'limit', flag: 'limit', kind: 'ms' },
      ],
      defaults: { mode: 'ok', logLevel: 'warn', limit: 5000 },
      envPrefix: 'FIXTURE',
      error: FixtureOptionError,
    }),
  logLevel: (o) => o.logLevel,
  shutdownLimitMs: (o) => o.limit,
  async start(o, ctx) {
    ctx.closeOnExit(resource('first', 0, false));
    ctx.closeOnExit(
      resource('second', o.mode === 'slow-stop' ? 60_000 : 10, o.mode === 'bad-stop'),
    );
    if (o.mode === 'bad-input') throw new StartupInputError('--thing: cannot be used');
    if (o.mode === 'crash') throw new Error('port in use');
    ctx.log.warn('started');
    return {
      coap: { address: '127.0.0.1', port: 5683 },
      ...(o.mode === 'no-dtls' ? {} : { dtls: { address: '::1', port: 5684 } }),
      http: { address: '127.0.0.1', port: 8080 },
    };
  },
});
