import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAddress, createAddressPolicy, parseIp } from '../../../src/core/net/address-policy.js';

const closed = createAddressPolicy([]);

describe('address policy', () => {
  const blocked = [
    '0.0.0.0',
    '10.0.0.1',
    '10.255.255.255',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.8.9.10',
    '169.254.169.254',
    '169.254.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '64:ff9b::169.254.169.254',
  ];
  for (const address of blocked) {
    test(`when the address is ${address}, then it is refused`, () => {
      const verdict = checkAddress(closed, address);
      assert.equal(verdict.allowed, false);
    });
  }

  const allowed = [
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '169.253.255.255',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ];
  for (const address of allowed) {
    test(`when the address is the public ${address}, then it is allowed`, () => {
      assert.deepEqual(checkAddress(closed, address), { allowed: true });
    });
  }

  test('when the input is not an IP, then it is refused as such', () => {
    const verdict = checkAddress(closed, 'example.com');
    assert.equal(verdict.allowed, false);
    assert.match((verdict as { reason: string }).reason, /not an IP/);
  });

  test('when a CIDR is allow-listed, then addresses inside it pass and neighbours do not', () => {
    const policy = createAddressPolicy(['10.1.0.0/16', '127.0.0.1', '::1']);
    assert.equal(checkAddress(policy, '10.1.2.3').allowed, true);
    assert.equal(checkAddress(policy, '10.2.0.1').allowed, false);
    assert.equal(checkAddress(policy, '127.0.0.1').allowed, true);
    assert.equal(checkAddress(policy, '127.0.0.2').allowed, false);
    assert.equal(checkAddress(policy, '::1').allowed, true);
  });

  test('when a hostname is allow-listed, then whatever it resolves to passes for that name only', () => {
    const policy = createAddressPolicy(['Receiver.Internal']);
    assert.equal(checkAddress(policy, '10.0.0.1', 'receiver.internal').allowed, true);
    assert.equal(checkAddress(policy, '10.0.0.1', 'receiver.internal.').allowed, true);
    assert.equal(checkAddress(policy, '10.0.0.1', 'other.internal').allowed, false);
    assert.equal(checkAddress(policy, '10.0.0.1').allowed, false);
  });

  test('when an allow-list entry is a malformed CIDR, then building the policy fails loudly', () => {
    assert.throws(() => createAddressPolicy(['10.0.0.0/99']), /not a valid CIDR/);
  });

  test('when IPv6 literals are parsed, then compressed, dotted and full forms agree', () => {
    assert.equal(parseIp('::ffff:127.0.0.1')?.bits, parseIp('0:0:0:0:0:ffff:7f00:0001')?.bits);
    assert.equal(parseIp('1::')?.bits, 1n << 112n);
    assert.equal(parseIp('not-an-ip'), undefined);
  });
});
