import {
  type CollectionRecord,
  defineCollection,
  OtaflowError,
  type UpdateStore,
} from '@otaflow/core';
import { describe, expect, it } from 'vitest';

interface Tag extends CollectionRecord {
  name: string;
  colour?: string;
  weight?: number;
  hidden?: boolean;
  createdAt: number;
  labels?: Record<string, string>;
}

const TAGS = defineCollection<Tag>('contractTag', {
  name: { type: 'string' },
  colour: { type: 'string' },
  weight: { type: 'number' },
  hidden: { type: 'boolean' },
  createdAt: { type: 'timestamp' },
  label: { type: 'attributes', path: ['labels'] },
});

function tag(id: number, name: string, extra: Partial<Tag> = {}): Tag {
  return { id, revision: 0, name, createdAt: 1_000 + id, ...extra };
}

const cmp = (field: string, op: '==' | '!=' | '>' | '<', value: string) => ({
  filter: { kind: 'cmp' as const, field, op, values: [value] },
});

async function codeOf(work: Promise<unknown>) {
  const error = await work.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OtaflowError);
  return (error as OtaflowError).code;
}

/** The same cases on every store: collections are stored by every `UpdateStore`. */
export function describeCollections(name: string, factory: () => Promise<UpdateStore>) {
  describe(`${name}: collections`, () => {
    it('puts, gets, lists in id order and deletes', async () => {
      const tags = (await factory()).collection(TAGS);
      await tags.put(tag(2, 'b'), -1);
      await tags.put(tag(1, 'a ä 😀', { labels: { 'k.x': 'v' } }), -1);
      expect(await tags.get(1)).toEqual(tag(1, 'a ä 😀', { labels: { 'k.x': 'v' } }));
      expect((await tags.list()).items.map((t) => t.id)).toEqual([1, 2]);
      expect(await tags.delete(2)).toBe(true);
      expect(await tags.delete(2)).toBe(false);
      expect(await tags.get(2)).toBeUndefined();
    });

    it('checks revisions: -1 for new, the stored one for updates', async () => {
      const tags = (await factory()).collection(TAGS);
      await tags.put(tag(1, 'a'), -1);
      expect(await codeOf(tags.put(tag(1, 'a'), -1))).toBe('CONFLICT');
      await tags.put({ ...tag(1, 'a2'), revision: 1 }, 0);
      expect(await codeOf(tags.put({ ...tag(1, 'a3'), revision: 2 }, 0))).toBe('CONFLICT');
      expect((await tags.get(1))?.name).toBe('a2');
    });

    it('filters, sorts and pages by its fields, attributes included', async () => {
      const tags = (await factory()).collection(TAGS);
      await tags.put(tag(1, 'red', { weight: 5, hidden: true, labels: { env: 'prod' } }));
      await tags.put(tag(2, 'Green', { weight: 1, hidden: false }));
      await tags.put(tag(3, 'blue%_', { weight: 9, labels: { env: 'dev' } }));
      const names = async (q: object) => (await tags.list(q)).items.map((t) => t.name);
      expect(await names(cmp('name', '==', 'GREEN'))).toEqual(['Green']);
      expect(await names(cmp('name', '==', 'blue%*'))).toEqual(['blue%_']);
      expect(await names(cmp('name', '==', 'b%*'))).toEqual([]);
      expect(await names(cmp('weight', '>', '4'))).toEqual(['red', 'blue%_']);
      expect(await names(cmp('hidden', '==', 'true'))).toEqual(['red']);
      expect(await names(cmp('label.env', '==', 'prod'))).toEqual(['red']);
      expect(await names(cmp('colour', '!=', 'x'))).toEqual(['red', 'Green', 'blue%_']);
      expect(await names({ sort: [{ field: 'weight', direction: 'DESC' }] })).toEqual([
        'blue%_',
        'red',
        'Green',
      ]);
      const page = await tags.list({ offset: 1, limit: 1 });
      expect(page).toMatchObject({ total: 3, items: [{ id: 2 }] });
      expect(await codeOf(tags.list(cmp('nope', '==', 'x')))).toBe('INVALID_INPUT');
    });

    it('narrows to a scope and finds by an exact field', async () => {
      const tags = (await factory()).collection(TAGS);
      await tags.put({ ...tag(1, 'k'), scope: 'target:a' });
      await tags.put({ ...tag(2, 'k'), scope: 'target:b' });
      await tags.put({ ...tag(3, 'K'), scope: 'target:a' });
      expect((await tags.list(undefined, 'target:a')).items.map((t) => t.id)).toEqual([1, 3]);
      expect((await tags.findBy('name', 'k', 'target:b'))?.id).toBe(2);
      expect((await tags.findBy('name', 'K'))?.id).toBe(3);
      expect(await tags.findBy('name', 'x')).toBeUndefined();
      expect((await tags.findBy('weight', 3)) ?? null).toBeNull();
      expect(await tags.deleteScope('target:a')).toBe(2);
      expect((await tags.list()).items.map((t) => t.id)).toEqual([2]);
    });

    it('joins a unit: seen inside, committed together, gone on a rollback', async () => {
      const store = await factory();
      await store.collection(TAGS).put(tag(1, 'kept'), -1);
      await expect(
        store.transaction(async (tx) => {
          const tags = tx.collection(TAGS);
          await tags.put(tag(2, 'new'), -1);
          await tags.delete(1);
          expect((await tags.list()).items.map((t) => t.name)).toEqual(['new']);
          expect((await tags.findBy('name', 'new'))?.id).toBe(2);
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect((await store.collection(TAGS).list()).items.map((t) => t.name)).toEqual(['kept']);
      await store.transaction(async (tx) => {
        await tx.collection(TAGS).put(tag(3, 'three'), -1);
      });
      expect((await store.collection(TAGS).get(3))?.name).toBe('three');
    });

    it('takes ids from a sequence of its own', async () => {
      const tags = (await factory()).collection(TAGS);
      const a = await tags.nextId();
      const b = await tags.nextId();
      expect(b).toBe(a + 1);
    });
  });
}
