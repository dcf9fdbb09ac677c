/// Open connections from the least to the most recently active: an intrusive doubly linked list
/// through `Connection.activityPrevious` and `activityNext`.
///
/// A connection moves to the back whenever it sees a packet, and `lastSeen` only grows with
/// capture time, so the list is ordered by `lastSeen`: the front is the connection to evict, in
/// O(1), without looking at the others.
struct ConnectionActivity {
    private(set) var front: Connection?
    private var back: Connection?

    mutating func append(_ connection: Connection) {
        connection.activityPrevious = back
        connection.activityNext = nil
        if let back { back.activityNext = connection } else { front = connection }
        back = connection
    }

    mutating func remove(_ connection: Connection) {
        let previous = connection.activityPrevious, next = connection.activityNext
        if let previous { previous.activityNext = next } else if front === connection { front = next }
        if let next { next.activityPrevious = previous } else if back === connection { back = previous }
        connection.activityPrevious = nil
        connection.activityNext = nil
    }

    /// The connection just saw a packet.
    mutating func moveToBack(_ connection: Connection) {
        guard back !== connection else { return }
        remove(connection)
        append(connection)
    }

    /// Unlinks every connection, front to back (the links are strong both ways).
    mutating func removeAll() {
        var current = front
        while let connection = current {
            current = connection.activityNext
            connection.activityPrevious = nil
            connection.activityNext = nil
        }
        front = nil
        back = nil
    }
}
