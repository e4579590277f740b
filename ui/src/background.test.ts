import { describe, expect, it } from 'vitest';
import { backgroundNote } from './background';

describe('the background note', () => {
  it('says closing hides to the tray, or quits where there is none', () => {
    expect(backgroundNote({ tray: true, login_start: false })).toMatch(/keeps Keyport in the tray/);
    expect(backgroundNote({ tray: false, login_start: true })).toMatch(/no tray icons: closing this window quits/);
  });
});
