// Exports of dissect/conntrack/nat/host. Owned by the conntrack+NAT work.
export function ctPlaceholder(): i32 { return 0; }
