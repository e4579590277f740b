import { describe, expect, it } from 'vitest';
import { deviceCodeText } from './device';

describe('a device code card', () => {
  it('says where to enter the code and who started the sign-in', () => {
    const c = {
      provider: 'github',
      provider_name: 'GitHub',
      user_code: 'ABCD-1234',
      verification_uri: 'https://github.com/login/device',
      expires_in: 900,
      program: '/usr/bin/python3',
    };
    expect(deviceCodeText(c)).toBe(
      'A sign-in to GitHub (started by /usr/bin/python3): open https://github.com/login/device on any device and enter this code.',
    );
    expect(deviceCodeText({ ...c, program: null })).toMatch(/^A sign-in to GitHub: open/);
  });
});
