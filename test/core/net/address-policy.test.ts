import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkAddress,
  createAddressPolicy,
  parseIp,
  type AddressPolicy,
} from '../../../src/core/net/address-policy.js';
import { ownApiAddress } from '../../../src/core/net/own-api-address.js';

const closed = createAddressPolicy([]);

/** Whether a connection to `address` on `port` (443 unless said) may be made, through `hostname` if given. */
function allows(policy: AddressPolicy, address: string, port = 443, hostname?: string): boolean {
  return checkAddress(policy, { address, port, ...(hostname === undefined ? {} : { hostname }) }).allowed;
}

function reason(policy: AddressPolicy, address: string, port = 443): string {
  const verdict = checkAddress(policy, { address, port });
  assert.equal(verdict.allowed, false, `${address}:${port} is refused`);
  return (verdict as { reason: string }).reason;
}

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
      assert.equal(allows(closed, address), false);
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
      assert.deepEqual(checkAddress(closed, { address, port: 443 }), { allowed: true });
    });
  }

  test('when the input is not an IP, then it is refused as such', () => {
    assert.match(reason(closed, 'example.com'), /not an IP/);
  });

  test('when a CIDR is allow-listed, then addresses inside it pass and neighbours do not', () => {
    const policy = createAddressPolicy(['10.1.0.0/16', '127.0.0.1', '::1']);
    assert.equal(allows(policy, '10.1.2.3'), true);
    assert.equal(allows(policy, '10.2.0.1'), false);
    assert.equal(allows(policy, '127.0.0.1'), true);
    assert.equal(allows(policy, '127.0.0.2'), false);
    assert.equal(allows(policy, '::1'), true);
  });

  test('when a hostname is allow-listed, then whatever it resolves to passes for that name only', () => {
    const policy = createAddressPolicy(['Receiver.Internal']);
    assert.equal(allows(policy, '10.0.0.1', 443, 'receiver.internal'), true);
    assert.equal(allows(policy, '10.0.0.1', 443, 'receiver.internal.'), true);
    assert.equal(allows(policy, '10.0.0.1', 443, 'other.internal'), false);
    assert.equal(allows(policy, '10.0.0.1'), false);
  });

  test('when an allow-list entry is a malformed CIDR, then building the policy fails loudly', () => {
    assert.throws(() => createAddressPolicy(['10.0.0.0/99']), /not a valid CIDR/);
    assert.throws(() => createAddressPolicy(['127.0.0.1:0']), /port outside 1-65535/);
    assert.throws(() => createAddressPolicy(['127.0.0.1:70000']), /port outside 1-65535/);
  });

  test('when allow-list entries name a port, then only that port is allowed', () => {
    const policy = createAddressPolicy([
      '127.0.0.1:3201',
      '[::1]:8080',
      '10.0.0.0/8:443',
      '[fd00::]/8:8443',
      'receiver.internal:9000',
    ]);
    assert.equal(allows(policy, '127.0.0.1', 3201), true);
    assert.equal(allows(policy, '127.0.0.1', 3200), false);
    assert.equal(allows(policy, '::1', 8080), true);
    assert.equal(allows(policy, '::1', 8081), false);
    assert.equal(allows(policy, '10.9.8.7', 443), true);
    assert.equal(allows(policy, '10.9.8.7', 80), false);
    assert.equal(allows(policy, 'fd12::1', 8443), true);
    assert.equal(allows(policy, 'fd12::1', 443), false);
    assert.equal(allows(policy, '10.0.0.1', 9000, 'receiver.internal'), true);
    assert.equal(allows(policy, '192.168.0.1', 9001, 'receiver.internal'), false);
  });

  test('when a bare IPv6 address is allow-listed, then its last group is not mistaken for a port', () => {
    const policy = createAddressPolicy(['fd00::8080', 'fd00::/16']);
    assert.equal(allows(policy, 'fd00::8080', 1), true);
    assert.equal(allows(policy, 'fd00::1234', 80), true);
  });

  describe("the service's own API address", () => {
    const ownApi = { ranges: ['127.0.0.1'], port: 3200 };

    test('when the loopback range is allowed without a port, then the API port on it stays refused', () => {
      const policy = createAddressPolicy(['127.0.0.1'], ownApi);
      assert.match(
        reason(policy, '127.0.0.1', 3200),
        /127\.0\.0\.1:3200 is where pixelshift's own API listens/,
      );
      assert.equal(allows(policy, '127.0.0.1', 3201), true, 'a receiver on another port is fine');
      assert.equal(allows(policy, '::ffff:127.0.0.1', 3200), false, 'nor through its IPv4-mapped form');
    });

    test('when the API address is allow-listed with its port, then it may be reached', () => {
      assert.equal(allows(createAddressPolicy(['127.0.0.1:3200'], ownApi), '127.0.0.1', 3200), true);
      assert.equal(allows(createAddressPolicy(['127.0.0.0/8:3200'], ownApi), '127.0.0.1', 3200), true);
    });

    test('when the API listens on every interface, then loopback and the local addresses on its port are refused', () => {
      const everywhere = ownApiAddress({ host: '0.0.0.0', port: 3200 }, () => ['192.0.2.10', 'fe80::1']);
      const policy = createAddressPolicy(['127.0.0.0/8', '::1', '192.0.2.0/24', 'fe80::/10'], everywhere);
      for (const address of ['127.0.0.1', '127.1.2.3', '::1', '192.0.2.10', 'fe80::1']) {
        assert.equal(allows(policy, address, 3200), false, address);
        assert.equal(allows(policy, address, 3201), true, address);
      }
      assert.equal(allows(policy, '192.0.2.11', 3200), true, 'another machine on the network');
      assert.equal(ownApiAddress({ host: '127.0.0.1', port: 0 }), undefined, 'an ephemeral port is unknown');
    });
  });

  test('when loopback is refused, then the message names what the address is, also for ::1', () => {
    assert.equal(reason(closed, '127.0.0.1'), '127.0.0.1 is a loopback IPv4 address');
    assert.equal(reason(closed, '::1'), '::1 is the loopback IPv6 address');
    assert.equal(reason(closed, '::'), ':: is the unspecified IPv6 address');
    assert.equal(reason(closed, '169.254.169.254'), '169.254.169.254 is a link-local IPv4 address');
    assert.equal(reason(closed, 'fd12::1'), 'fd12::1 is a unique-local IPv6 address');
    assert.equal(
      reason(closed, '::ffff:10.0.0.1'),
      '::ffff:10.0.0.1 is an IPv6 form of 10.0.0.1, a private IPv4 address',
    );
  });

  test('when IPv6 literals are parsed, then compressed, dotted and full forms agree', () => {
    assert.equal(parseIp('::ffff:127.0.0.1')?.bits, parseIp('0:0:0:0:0:ffff:7f00:0001')?.bits);
    assert.equal(parseIp('1::')?.bits, 1n << 112n);
    assert.equal(parseIp('not-an-ip'), undefined);
  });
});
