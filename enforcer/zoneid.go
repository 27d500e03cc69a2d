package enforcer

// Zone ids live in the packet mark (ZoneMask). Zones get 1..N in policy
// order; the top ids are reserved classes, so that denying them is a matter
// of having no allow element for the id (fail closed), and 0 means "not from
// a container".
const (
	ZoneIDDefaultBridge uint8 = 0xfd
	ZoneIDUnzoned       uint8 = 0xfe
	ZoneIDConflict      uint8 = 0xff
	MaxZones                  = int(ZoneIDDefaultBridge) - 1
)

// ZoneMark is the mark value (within ZoneMask) carrying zone id.
func ZoneMark(id uint8) uint32 { return uint32(id) << ZoneShift }

// ZoneIDOfMark extracts the zone id from a packet mark.
func ZoneIDOfMark(mark uint32) uint8 { return uint8((mark & ZoneMask) >> ZoneShift) }

// anyZone is the key range matching every zone id.
var anyZone = NumRange(ZoneMark(0), ZoneMark(0xff))

func zoneField(id uint8) Field { return NumField(ZoneMark(id)) }
