// Sample backend answers for the unit tests.
import type { Account, Provider, Use } from './model';

export const account = (over: Partial<Account> = {}): Account => ({
  id: 'demo-1',
  provider: 'demo',
  provider_name: 'Demo',
  nickname: 'alice@example.test',
  status: 'ok',
  status_reason: null,
  expires_at: 1000,
  expires_in: 300,
  scopes: ['openid', 'email'],
  can_refresh: true,
  can_revoke: true,
  mcp_server: false,
  metadata: {},
  is_default: false,
  over_ssh: false,
  created_at: 0,
  updated_at: 0,
  ...over,
});

export const provider = (over: Partial<Provider> = {}): Provider => ({
  id: 'github',
  display_name: 'GitHub',
  set_up: false,
  builtin: true,
  redirect: 'loopback',
  redirect_uri: 'http://127.0.0.1/callback',
  registration_url: 'https://github.com/settings/developers',
  wants_client_secret: true,
  variables: {},
  ...over,
});

/** A token use by `program` (null: it could not be found). */
export const use = (at: number, account: string, program: string | null): Use => ({
  at,
  account,
  program,
  pid: null,
  via: 'agent',
});
