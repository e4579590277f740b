import { beforeEach, describe, expect, it, vi } from 'vitest';
import { formError } from './dom';
import { notice, showError } from './notices';

beforeEach(() => {
  document.body.innerHTML = '<div id="notices"></div><p id="form-error" hidden></p>';
});

describe('notices', () => {
  it('keep errors until dismissed and let confirmations fade', () => {
    vi.useFakeTimers();
    notice('Refreshed alice.');
    showError({ kind: 'provider', message: 'demo: refresh failed: invalid_grant' }, 'Refresh');
    const stack = document.getElementById('notices')!;
    expect(stack.children).toHaveLength(2);
    expect(stack.firstElementChild?.getAttribute('role')).toBe('alert');
    expect(stack.textContent).toContain('The service refused to refresh');
    expect(stack.textContent).toContain('Demo: refresh failed: invalid_grant.');
    vi.advanceTimersByTime(7000);
    expect(stack.children).toHaveLength(1);
    (stack.querySelector('.notice-close') as HTMLButtonElement).click();
    expect(stack.children).toHaveLength(0);
    vi.useRealTimers();
  });

  it('stay a short stack, dropping the oldest confirmation first', () => {
    for (const n of [1, 2, 3, 4]) notice(`done ${n}`);
    const texts = [...document.querySelectorAll('#notices strong')].map((s) => s.textContent);
    expect(texts).toEqual(['done 4', 'done 3', 'done 2']);
  });
});

describe('a form error line', () => {
  it('shows the error as a sentence, and hides when cleared', () => {
    formError('form-error', { kind: 'usage', message: 'the client id is empty' });
    const line = document.getElementById('form-error')!;
    expect(line.textContent).toBe('The client id is empty.');
    expect(line.hidden).toBe(false);
    formError('form-error', null);
    expect(line.hidden).toBe(true);
  });
});
