import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

/**
 * A private PostgreSQL started from the machine's installed binaries, for the records when
 * DATABASE_URL is not set: its data in one directory, reached only through a Unix socket in that
 * directory (no TCP port, so nothing to clash with and nothing on the network), trust auth for the
 * socket's owner alone. It runs in its own processes: none of its memory is the Node process's.
 */

/** The embedded store cannot run on this machine (no binaries, no user to run them as): not an error. */
export class EmbeddedUnavailable extends Error {
  override readonly name = 'EmbeddedUnavailable';
}

/** The embedded store could run here but did not start: its directory, its server. Stops start-up. */
export class EmbeddedStartError extends Error {
  override readonly name = 'EmbeddedStartError';
}

export interface EmbeddedOptions {
  /** The data directory (made if missing, initialised on first start). */
  readonly dir: string;
  /** Where `initdb` and `postgres` are: PG_BIN, else found (see findBinaries). */
  readonly bin?: string | null;
  /** Lines of the server that say something went wrong (WARNING and worse). */
  readonly onServerLine?: (line: string) => void;
  /** How long the server may take to accept connections (crash recovery included). */
  readonly readyTimeoutMs?: number;
  /** The server exited without being asked to (it crashed, or someone stopped it). */
  readonly onUnexpectedExit?: (code: number | null, signal: string | null) => void;
}

export interface EmbeddedPostgres {
  readonly dir: string;
  readonly bin: string;
  /** `postgresql://postgres@/postgres?host=<dir>`: the socket in the data directory. */
  readonly url: string;
  /** The postmaster's pid (its backends are its children). */
  readonly pid: number;
  /** Fast shutdown (immediate with `force`); resolves once the server has exited. */
  stop(force?: boolean): Promise<void>;
}

/** The socket path `<dir>/.s.PGSQL.5432` must fit a sockaddr_un (107 bytes on Linux, 103 on macOS). */
const MAX_SOCKET_PATH = 103;
const SOCKET_NAME = '.s.PGSQL.5432';
const SERVER_USER = 'postgres';
const READY_POLL_MS = 100;
const KEPT_LINES = 20;

/**
 * The directory holding `initdb` and `postgres`: `bin` when given (it must hold both), else
 * `pg_config --bindir`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout).
 */
export function findBinaries(
  bin?: string | null,
  where: { readonly pgConfig?: string; readonly root?: string } = {},
): string {
  if (bin) {
    if (!hasServer(bin)) throw new EmbeddedStartError(`PG_BIN ${bin} holds no initdb and postgres`);
    return bin;
  }
  try {
    const dir = execFileSync(where.pgConfig ?? 'pg_config', ['--bindir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (hasServer(dir)) return dir;
  } catch {
    // No pg_config on the PATH: look where Debian's packages put the server.
  }
  const root = where.root ?? '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+(\.\d+)?$/.test(name) && hasServer(join(root, name, 'bin')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new EmbeddedUnavailable(
      'no PostgreSQL server binaries found (PG_BIN, pg_config --bindir, /usr/lib/postgresql/*/bin)',
    );
  }
  return join(root, versions[0]!, 'bin');
}

function hasServer(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/** The user the server runs as: this process's, or `postgres` when this process is root (which PostgreSQL refuses). */
function serverIdentity(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const id = (flag: string) =>
      Number(
        execFileSync('id', [flag, SERVER_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
      );
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new EmbeddedUnavailable(
      `this process runs as root, which PostgreSQL refuses, and there is no "${SERVER_USER}" user to run it as`,
    );
  }
}

/** Makes the directory the server's own (mode 0700); initialises it when it holds no cluster yet. */
function prepareDirectory(dir: string, bin: string, user: { uid: number; gid: number } | null): boolean {
  mkdirSync(dir, { recursive: true });
  if (existsSync(join(dir, 'PG_VERSION'))) return false;
  if (readdirSync(dir).length > 0) {
    throw new EmbeddedStartError(`EMBEDDED_PG_DIR ${dir} is not empty and holds no PostgreSQL data`);
  }
  if (user) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, 0o700);
  try {
    execFileSync(
      join(bin, 'initdb'),
      ['-D', dir, '-U', SERVER_USER, '--auth=trust', '--encoding=UTF8', '--no-locale'],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(user ?? {}) },
    );
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    // Run as root, the server is another user: every directory above the data must be open to it.
    const hint =
      user && stderr.includes('Permission denied')
        ? ` (the "${SERVER_USER}" user must be able to reach it: choose an EMBEDDED_PG_DIR whose parents it may enter)`
        : '';
    throw new EmbeddedStartError(
      `initdb in ${dir} failed: ${lastLine(stderr) || (err as Error).message}${hint}`,
    );
  }
  return true;
}

/**
 * Starts the server on `dir` (initialising it first if needed) and waits until it accepts
 * connections. On Linux the server gets SIGINT (a fast shutdown) if this process dies without stopping
 * it, so a `kill -9` leaves no server behind holding the directory.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedOptions,
): Promise<EmbeddedPostgres & { readonly initialised: boolean }> {
  const bin = findBinaries(options.bin);
  const user = serverIdentity();
  const dir = resolve(options.dir);
  if (join(dir, SOCKET_NAME).length > MAX_SOCKET_PATH) {
    throw new EmbeddedStartError(
      `EMBEDDED_PG_DIR ${dir} is too long for the server's socket (at most ${MAX_SOCKET_PATH - SOCKET_NAME.length - 1} characters)`,
    );
  }
  const initialised = prepareDirectory(dir, bin, user);
  const child = spawnServer(bin, dir, user);
  const lines: string[] = [];
  child.stderr?.setEncoding('utf8');
  let partial = '';
  child.stderr?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > KEPT_LINES) lines.shift();
      if (/\b(WARNING|ERROR|FATAL|PANIC):/.test(line)) options.onServerLine?.(line);
    }
  });
  let stopping = false;
  const exited = once(child, 'exit').then(([code, signal]) => {
    if (!stopping) options.onUnexpectedExit?.(code as number | null, signal as string | null);
  });
  const url = `postgresql://${SERVER_USER}@/postgres?host=${encodeURIComponent(dir)}`;
  try {
    await waitReady(url, child, options.readyTimeoutMs ?? 60_000);
  } catch (err) {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    await exited;
    const said = lines.filter((line) => /FATAL|PANIC|ERROR/.test(line)).pop() ?? lines.at(-1) ?? '';
    throw new EmbeddedStartError(
      `the embedded PostgreSQL in ${dir} did not start: ${said.replace(/^.*?(FATAL|PANIC|ERROR):\s*/, '') || (err as Error).message}`,
    );
  }
  return {
    dir,
    bin,
    url,
    pid: child.pid!,
    initialised,
    async stop(force = false) {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(force ? 'SIGQUIT' : 'SIGINT');
      await exited;
    },
  };
}

/** `postgres` in the foreground, as the server user, behind `setpriv --pdeathsig` where there is one. */
function spawnServer(bin: string, dir: string, user: { uid: number; gid: number } | null): ChildProcess {
  const args = [
    '-D',
    dir,
    '-c',
    'listen_addresses=',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'unix_socket_permissions=0700',
    '-c',
    'fsync=on',
    '-c',
    'max_connections=20',
    '-c',
    'shared_buffers=32MB',
  ];
  const server = join(bin, 'postgres');
  const deathSignal = process.platform === 'linux' && existsSync('/usr/bin/setpriv');
  const [command, argv] = deathSignal
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'INT', '--', server, ...args]]
    : [server, args];
  return spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...(user ?? {}) });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the server exited');
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (err) {
      last = err as Error;
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((done) => setTimeout(done, READY_POLL_MS));
  }
  throw new Error(`not accepting connections after ${timeoutMs} ms (${last?.message ?? 'no answer'})`);
}

/** A fresh directory for a throwaway embedded store (the demo's), and its removal once the server is gone. */
export function temporaryEmbeddedDir(): { readonly dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'fulfillment-records-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .pop() ?? ''
  );
}
