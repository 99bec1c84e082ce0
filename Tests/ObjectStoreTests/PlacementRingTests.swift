import Testing
@testable import ObjectStore

struct PlacementRingTests {
    static func role(_ id: String, _ zone: String, _ capacity: Int64? = 1_000_000_000) -> AdminModels.NodeRole {
        AdminModels.NodeRole(id: id, zone: zone, capacity: capacity, tags: [])
    }

    @Test func threeNodesInThreeZonesHoldEveryPartitionWithFactorThree() throws {
        let ring = try PlacementRing(roles: [Self.role("a", "z1"), Self.role("b", "z2"), Self.role("c", "z3")], replicationFactor: 3)
        #expect(ring.partitions.count == 256)
        #expect(ring.partitions.allSatisfy { Set($0) == ["a", "b", "c"] })
        #expect(ring.quorum == 2)
    }

    @Test func copiesGoToDistinctZonesWhenThereAreEnough() throws {
        let roles = [Self.role("a1", "z1"), Self.role("a2", "z1"), Self.role("b1", "z2"), Self.role("b2", "z2"), Self.role("c1", "z3")]
        let zoneOf = Dictionary(uniqueKeysWithValues: roles.map { ($0.id, $0.zone) })
        let ring = try PlacementRing(roles: roles, replicationFactor: 3)
        #expect(ring.partitions.allSatisfy { Set($0.map { zoneOf[$0]! }).count == 3 })
        // With two zones only, a third copy still goes somewhere: two zones, three nodes.
        let twoZones = try PlacementRing(roles: Array(roles.prefix(4)), replicationFactor: 3)
        #expect(twoZones.partitions.allSatisfy { Set($0).count == 3 && Set($0.map { zoneOf[$0]! }).count == 2 })
    }

    @Test func partitionsFollowCapacity() throws {
        let ring = try PlacementRing(roles: [Self.role("big", "z1", 2_000), Self.role("small", "z2", 1_000)], replicationFactor: 1)
        let big = ring.partitions.filter { $0 == ["big"] }.count
        // Expected 2/3 of 256 ≈ 171; allow for hashing noise.
        #expect((145...195).contains(big))
    }

    @Test func addingANodeMovesOnlyWhatItTakes() throws {
        let before = try PlacementRing(roles: (0..<4).map { Self.role("n\($0)", "z\($0)") }, replicationFactor: 1)
        let after = try PlacementRing(roles: (0..<5).map { Self.role("n\($0)", "z\($0)") }, replicationFactor: 1)
        let moved = zip(before.partitions, after.partitions).filter { $0 != $1 }
        #expect(moved.allSatisfy { $0.1 == ["n4"] })  // nothing moves between old nodes
        #expect((25...80).contains(moved.count))      // about 1/5 of 256
    }

    @Test func gatewaysHoldNoDataAndTooFewNodesIsAnError() throws {
        let roles = [Self.role("a", "z1"), Self.role("gw", "z2", nil), Self.role("b", "z3")]
        let ring = try PlacementRing(roles: roles, replicationFactor: 2)
        #expect(ring.partitions.allSatisfy { !$0.contains("gw") })
        #expect(throws: PlacementRing.LayoutError.notEnoughStorageNodes(have: 2, need: 3)) {
            try PlacementRing(roles: roles, replicationFactor: 3)
        }
    }

    @Test func anObjectAlwaysMapsToTheSameNodes() throws {
        let ring = try PlacementRing(roles: [Self.role("a", "z1"), Self.role("b", "z2"), Self.role("c", "z3"), Self.role("d", "z4")],
                                     replicationFactor: 3)
        #expect(ring.nodes(bucket: "loki-chunks", key: "fake/1") == ring.nodes(bucket: "loki-chunks", key: "fake/1"))
        #expect(PlacementRing.partition(bucket: "b", key: "k") == PlacementRing.partition(bucket: "b", key: "k"))
        let spread = Set((0..<500).map { PlacementRing.partition(bucket: "b", key: "key-\($0)") })
        #expect(spread.count > 200)  // keys spread over the partitions
    }
}
