import TroveCore
import TroveProtocol
import TroveStore

/// Push leases for admins (PROTOCOL.md §11): list the live ones, end one.
extension RequestRouter {
    func leaseList(_: Message.LeaseList, _: Caller) throws(ServerError) -> Message.Leases {
        let live = try s { () throws(StoreError) in try store.liveUploads() }
        // A record is at most 16 + 2 + 255 + 16 bytes: as many as fit one frame.
        let cap = max(1, (Int(limits.maxFramePayload) - 64) / 289)
        let records = live.prefix(cap).compactMap { u -> LeaseRecord? in
            guard let id = LeaseID(hex: u.id) else { return nil }
            return LeaseRecord(lease: id, name: u.name, created: u.created, expires: u.expires)
        }
        return .init(leases: records, truncated: live.count > cap)
    }

    func leaseEnd(_ m: Message.LeaseEnd, _ caller: Caller) throws(ServerError) -> Message.LeaseEnded {
        let id = m.lease.description
        let existed = try s { () throws(StoreError) -> Bool in
            let live = try store.liveUploads().contains { $0.id == id }
            try store.endUpload(id)
            return live
        }
        if existed {
            logger.notice(
                "push lease ended by an admin", metadata: ["lease": "\(m.lease)", "by": "\(caller.actor)"])
        }
        return .init(existed: existed)
    }
}
