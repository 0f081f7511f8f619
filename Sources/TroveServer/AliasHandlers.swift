import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Aliases (PROTOCOL.md §11): ALIAS_SET, ALIAS_LIST, ALIAS_HISTORY, ALIAS_RM.
extension RequestRouter {
    func storeExpectation(_ e: TroveProtocol.AliasExpectation) -> TroveStore.AliasExpectation {
        switch e {
        case .any: .any
        case .absent: .absent
        case .version(let v): .version(v)
        }
    }

    func aliasSet(_ m: Message.AliasSet, _ caller: Caller) throws(ServerError) -> Message.AliasSetOK {
        try validTag(m.alias, "alias")
        try validTag(m.version, "version")
        // Where the alias pointed before, read in the same transaction as the move.
        let previous = try s { () throws(StoreError) in
            try store.setAlias(
                name: m.name, alias: m.alias, version: m.version, expect: storeExpectation(m.expect),
                actor: caller.actor)
        }
        logger.info(
            "alias moved",
            metadata: ["alias": "\(m.name):\(m.alias)", "to": "\(m.version)", "by": "\(caller.actor)"])
        return .init(name: m.name, alias: m.alias, version: m.version, previous: previous)
    }

    func aliasList(_ m: Message.AliasList, _: Caller) throws(ServerError) -> Response {
        let list = try s { () throws(StoreError) in try store.aliases(name: m.name) }.map {
            AliasInfo(
                alias: $0.alias, version: $0.version, movedAt: $0.updated, movedBy: $0.updatedBy)
        }
        return .stream(ListStream(list, budget: listBudget) { .aliases(.init(aliases: $0)) })
    }

    func aliasHistory(_ m: Message.AliasHistory, _: Caller) throws(ServerError) -> Response {
        try validTag(m.alias, "alias")
        var moves = try s { () throws(StoreError) in try store.aliasHistory(name: m.name, alias: m.alias) }
            .reversed()
            .map { AliasEvent(alias: $0.alias, from: $0.from, to: $0.to, at: $0.at, by: $0.actor) }
        if m.limit > 0 { moves = Array(moves.prefix(Int(m.limit))) }
        return .stream(ListStream(moves, budget: listBudget) { .aliasHistoryList(.init(events: $0)) })
    }

    func aliasRemove(_ m: Message.AliasRemove, _ caller: Caller) throws(ServerError) -> Message.AliasRemoved {
        try validTag(m.alias, "alias")
        if case .absent = m.expect {
            throw ServerError(.badRequest, "ALIAS_RM with expectation 'absent' cannot succeed")
        }
        var expect = storeExpectation(m.expect)
        var previous: String
        if case .version(let v) = m.expect {
            previous = v
        } else {
            guard
                let current = try s({ () throws(StoreError) in try store.aliases(name: m.name) }).first(
                    where: { $0.alias == m.alias })
            else { throw ServerError(.notFound, "alias \(m.name):\(m.alias) does not exist") }
            previous = current.version
            expect = .version(current.version)
        }
        try s { () throws(StoreError) in
            try store.removeAlias(name: m.name, alias: m.alias, expect: expect, actor: caller.actor)
        }
        return .init(name: m.name, alias: m.alias, previous: previous)
    }
}
