/** The vault's rollback register (hsm/pkcs11/register.ts) and the session pool (pool.ts) on a real SoftHSM2 token. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Pkcs11Hsm } from '../../src/hsm/index.js';
import { ck } from '../../src/hsm/pkcs11/module.js';
import { REGISTER_APPLICATION, TokenRegister, encodeGuardValue } from '../../src/hsm/pkcs11/register.js';
import { softhsm, type SoftHsm } from './softhsm.js';

const g = (epoch: number, fill = epoch) => ({ epoch, hash: Buffer.alloc(32, fill) });

describe('HSM rollback register', () => {
  let t: SoftHsm;
  let hsm: Pkcs11Hsm;
  const copies = () => hsm.token.find([{ type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_APPLICATION, value: REGISTER_APPLICATION }]);
  before(async () => {
    t = softhsm(['r']);
    hsm = await Pkcs11Hsm.open(t.config('r'));
    await hsm.createRing('vault', 'wrap');
  });
  after(async () => {
    await hsm.close();
    t.cleanup();
  });

  it('advances only from a value it holds, keeps a constant few objects, and never goes back', async () => {
    const r = new TokenRegister(hsm.token);
    assert.equal(await r.read(), undefined);
    assert.equal(await r.advance([g(1)], g(2)), false, 'an empty register does not move from a value it never held');
    assert.equal(await r.advance([undefined], g(1)), 'written');
    for (let e = 2; e <= 10; e++) assert.equal(await r.advance([g(e - 1)], g(e)), 'written');
    assert.ok(copies().length <= 5, `${copies().length} token objects after 10 writes: the newest and a few older`);
    assert.deepEqual(await new TokenRegister(hsm.token).read(), g(10), 'a restarted vault reads the token');
    assert.equal(await r.advance([g(9)], g(11)), false, 'a writer that missed epoch 10 is refused');
    assert.equal(await r.advance([g(10)], g(10)), 'written', 'already there: done');
    assert.equal(await r.advance([g(10)], g(9)), 'recorded', 'a recent value it held: recorded already (another replica built on it)');
    assert.equal(await r.advance([g(10)], g(9, 0x99)), false, 'never back');
    assert.deepEqual(await r.read(), g(10));
    assert.equal(await r.advance([g(10, 1)], g(11)), false, 'same epoch, other hash: not the value it holds');
  });

  it('two different values of the newest epoch are a fork: refused', async () => {
    hsm.token.create([
      { type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_TOKEN, value: true }, { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_APPLICATION, value: REGISTER_APPLICATION }, { type: ck.CKA_LABEL, value: 'ebak-vault:root' },
      { type: ck.CKA_VALUE, value: encodeGuardValue(g(10, 0xee)) },
    ], 'test');
    await assert.rejects(new TokenRegister(hsm.token).read(), (e) => isEbakError(e, 'VAULT'));
    for (const h of copies()) hsm.token.destroy(h);
  });

  it('the session pool serves wrap, unwrap and the register from worker threads on the same token', async () => {
    const pool = await hsm.sessions({ size: 2 });
    try {
      const secret = Buffer.alloc(32, 5);
      const blobs = await Promise.all(Array.from({ length: 8 }, () => pool.wrap('vault', secret)));
      for (const b of blobs) assert.deepEqual(await hsm.unwrap(b), secret, 'the main session opens what a worker wrapped');
      assert.deepEqual(await pool.unwrap(await hsm.wrap('vault', secret)), secret);
      assert.equal(await pool.register.advance([undefined], g(1)), 'written');
      assert.deepEqual(await hsm.register.read(), g(1));
      assert.deepEqual(await pool.register.read(), g(1));
      await assert.rejects(pool.unwrap(Buffer.from('garbage')), (e) => isEbakError(e));
    } finally {
      await pool.close();
    }
    assert.deepEqual(await hsm.register.read(), g(1), 'closing the pool leaves the main session working');
  });

  it('reads on one session while another advances the register always see a whole value, never going back', async () => {
    const pool = await hsm.sessions({ size: 3 });
    try {
      let cur = (await pool.register.read())!;
      let writing = true;
      const writer = (async () => {
        try {
          for (let i = 0; i < 300; i++) {
            const next = g(cur.epoch + 1, (cur.epoch + 1) % 250);
            assert.equal(await pool.register.advance([cur], next), 'written');
            cur = next;
          }
        } finally {
          writing = false;
        }
      })();
      // SoftHSM's file store: a read meeting a copy being created or destroyed saw it half-written ("malformed").
      let reads = 0;
      const reader = async () => {
        let seen = 0;
        while (writing) {
          const v = await pool.register.read();
          assert.ok(v !== undefined && v.epoch >= seen, `read ${reads}: epoch ${v?.epoch} after ${seen}`);
          seen = v.epoch;
          reads++;
        }
      };
      await Promise.all([writer, reader(), reader()]);
      assert.ok(reads > 10, `${reads} reads overlapped the writes`);
    } finally {
      await pool.close();
    }
  });
});
