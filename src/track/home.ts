// Where lorakit keeps its state: $LORAKIT_HOME, else ~/.lorakit. Shared by the tracker and the registry.
import { mkdirSync } from 'node:fs';
import { homedir, hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';

export function lorakitHome(explicit?: string): string {
  const dir = resolve(explicit ?? process.env.LORAKIT_HOME ?? join(homedir(), '.lorakit'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Who is acting, for history rows: $USER, else the OS account name. */
export function currentUser(): string {
  if (process.env.USER) return process.env.USER;
  try { return userInfo().username; } catch { return 'unknown'; }
}

export const currentHost = (): string => hostname();
