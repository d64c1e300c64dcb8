//! berth-net: container networking — the bridge, IPAM, veth pairs, published ports and DNS.
