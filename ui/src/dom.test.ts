import { describe, expect, it, vi } from 'vitest';
import { patchList } from './dom';
import { account } from './fixtures';
import { accountItem } from './render';

const key = (row: Element) => row.getAttribute('data-account');
const rows = (list: Element) => [...list.children] as HTMLElement[];

describe('redrawing a list', () => {
  it('keeps the rows, their focus and an opened scope list, and clicks act on the new data', () => {
    const list = document.createElement('ul');
    document.body.replaceChildren(list);
    const on = vi.fn();
    const a = account({ id: 'demo-1', nickname: 'alice' });
    const b = account({ id: 'demo-2', nickname: 'bob' });
    patchList(list, [accountItem(a, [], 1000, false, on), accountItem(b, [], 1000, false, on)], key);
    const [first, second] = rows(list);
    const rename = first.querySelector<HTMLButtonElement>("[data-action='rename']")!;
    rename.focus();
    first.querySelector('details')!.open = true;

    const renamed = { ...a, nickname: 'Alice at work' };
    patchList(list, [accountItem(renamed, [], 1000, false, on), accountItem(b, [], 1000, false, on)], key);
    expect(rows(list)).toEqual([first, second]);
    expect(document.activeElement).toBe(rename);
    expect(first.querySelector('details')!.open).toBe(true);
    expect(first.querySelector('.nickname')!.textContent).toBe('Alice at work');
    expect(rename.getAttribute('aria-label')).toBe('Rename Alice at work');
    rename.click();
    expect(on).toHaveBeenLastCalledWith('rename', renamed);
  });

  it('reorders, adds and removes rows by key', () => {
    const list = document.createElement('ul');
    const item = (id: string) => accountItem(account({ id, nickname: id }), [], 1000, false, () => {});
    patchList(list, ['a', 'b', 'c'].map(item), key);
    const [a, , c] = rows(list);
    patchList(list, ['c', 'd', 'a'].map(item), key);
    expect(rows(list).map(key)).toEqual(['c', 'd', 'a']);
    expect(rows(list)[0]).toBe(c);
    expect(rows(list)[2]).toBe(a);
    patchList(list, [], key);
    expect(list.children).toHaveLength(0);
  });

  it('redraws a row whose state changed: busy disables its buttons, and back', () => {
    const list = document.createElement('ul');
    const a = account({ id: 'demo-1' });
    patchList(list, [accountItem(a, [], 1000, false, () => {})], key);
    const buttons = () => [...list.querySelectorAll('button')];
    patchList(list, [accountItem(a, [], 1000, true, () => {})], key);
    expect(buttons().every((x) => x.disabled)).toBe(true);
    patchList(list, [accountItem(a, [], 1000, false, () => {})], key);
    expect(buttons().some((x) => x.disabled)).toBe(false);
  });
});
