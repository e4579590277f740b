import { beforeEach, describe, expect, it, vi } from 'vitest';
import { formError } from './dom';
import { notice, showError, watchPointer } from './notices';

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

  it('keep a faded confirmation in place while the pointer is over the window, until a click has landed', () => {
    vi.useFakeTimers();
    watchPointer();
    document.dispatchEvent(new MouseEvent('pointermove', { clientY: 300 }));
    notice('Connected alice.');
    const stack = document.getElementById('notices')!;
    const box = stack.firstElementChild as HTMLElement;
    vi.advanceTimersByTime(7000);
    expect(box.isConnected).toBe(true);
    expect(box.classList.contains('notice-faded')).toBe(true);
    expect(box.getAttribute('aria-hidden')).toBe('true');
    document.body.click();
    expect(box.isConnected).toBe(true);
    vi.advanceTimersByTime(1);
    expect(box.isConnected).toBe(false);
    // The pointer leaving takes a faded notice out at once.
    notice('Refreshed alice.');
    vi.advanceTimersByTime(7000);
    expect(stack.children).toHaveLength(1);
    document.documentElement.dispatchEvent(new Event('mouseleave'));
    expect(stack.children).toHaveLength(0);
    vi.useRealTimers();
  });

  it('take a faded confirmation out at once when the pointer is above it, where nothing moves', () => {
    vi.useFakeTimers();
    watchPointer();
    const stack = document.getElementById('notices')!;
    const at = (box: Element, top: number) => {
      (box as HTMLElement).getBoundingClientRect = () => ({ top }) as DOMRect;
    };
    // Above the notice when it fades: it goes.
    document.dispatchEvent(new MouseEvent('pointermove', { clientY: 40 }));
    notice('Refreshed alice.');
    at(stack.firstElementChild!, 100);
    vi.advanceTimersByTime(7000);
    expect(stack.children).toHaveLength(0);
    // Below it when it fades: it keeps its place until the pointer goes above it.
    document.dispatchEvent(new MouseEvent('pointermove', { clientY: 300 }));
    notice('Renamed alice.');
    at(stack.firstElementChild!, 100);
    vi.advanceTimersByTime(7000);
    expect(stack.children).toHaveLength(1);
    document.dispatchEvent(new MouseEvent('pointermove', { clientY: 150 }));
    expect(stack.children).toHaveLength(1);
    document.dispatchEvent(new MouseEvent('pointermove', { clientY: 60 }));
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
