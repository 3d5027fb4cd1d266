package request

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/bits"
	"reflect"
	"strconv"
	"testing"
	"unsafe"
)

// The single pass's shortcuts (strict.go) against the code they stand in
// for: scanner.str in once mode against the reference loop, storeNumber
// against setNumber, the offsets of setDirect against fieldByIndex, and the
// field-order guess against key orders the docker CLI never sends. The
// end-to-end checks are TestDecodeOnceMatchesReference and
// FuzzStrictDecodeOnce (checkAllTypes covers onceHops too).

// OnceHopA and OnceHopB: fields promoted through one embedded pointer
// (reached by offsets, like createBody's *container.Config) and through two
// (reflect's way).
type OnceHopA struct {
	*OnceHopB
	A  int16
	AS string
}

type OnceHopB struct {
	B  uint8
	BS string
	BF float32
}

type OnceHopC struct {
	C int64
}

type onceHops struct {
	*OnceHopA
	OnceHopC
	*onceEmbedded // unexported: never reached by offsets
	Top           bool
	Leaves        []int8
	Fixed         [3]float64
	U             uint
	Ptr           *string
}

var onceHopInputs = []string{
	`{"A":1,"AS":"x","B":2,"BS":"y","BF":1.5,"C":-3,"Top":true,"Leaves":[1,-2,3],"Fixed":[1,2.5],"U":7,"Ptr":"p"}`,
	`{"A":1,"Inner":"i"}`,
	`{"Top":false,"C":9223372036854775807,"B":255,"A":-32768}`,
	`{"B":256}`, `{"A":32768}`, `{"BF":3.5e38}`, `{"BF":-3.4e38}`, `{"Leaves":[128]}`, `{"Leaves":[1,null,3]}`,
	`{"U":-1}`, `{"U":18446744073709551615}`, `{"U":18446744073709551616}`, `{"Fixed":[1,2,3,4]}`,
	`{"A":null,"B":null,"BS":null}`, `{"AS":1}`, `{"B":"1"}`, `{"Top":"true"}`, `{"Top":nul}`, `{"Top":tru}`,
	`{"A":1,"A":2}`, `{"BS":"a","BS":"b"}`, `{"a":1}`, `{"Inner":"x","Deep":{"N":1}}`, `{"BF":1e-50}`,
}

func TestDecodeOnceHops(t *testing.T) {
	for _, in := range onceHopInputs {
		sameAsReference[onceHops](t, []byte(in))
		sameAsReference[*onceHops](t, []byte(in))
	}
	var v onceHops
	if err := decodeOnce([]byte(onceHopInputs[0]), reflect.ValueOf(&v).Elem()); err != nil {
		t.Fatalf("single pass fell back: %v", err)
	}
	if v.OnceHopA == nil || v.OnceHopB == nil || v.B != 2 || v.BS != "y" || v.A != 1 || v.C != -3 || v.Fixed[1] != 2.5 || *v.Ptr != "p" {
		t.Fatalf("decoded %#v", v)
	}
}

// setDirect's offsets are the addresses fieldByIndex reaches, for every
// field of the types the plugin decodes.
func TestSetDirectMatchesFieldByIndex(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[createBody](), reflect.TypeFor[onceHops](), reflect.TypeFor[onceAll](),
	} {
		si := getStructInfo(typ)
		for _, f := range si.list {
			v := reflect.New(typ).Elem()
			base := v.Addr().UnsafePointer()
			if !f.direct {
				continue
			}
			got := fieldAddr(base, f)
			fv, err := fieldByIndex(v, f.index)
			if err != nil {
				t.Fatalf("%s.%s: %v", typ, f.name, err)
			}
			if !fv.CanSet() {
				t.Errorf("%s.%s: reached by offset but not settable", typ, f.name)
			}
			if want := fv.Addr().UnsafePointer(); got != want {
				t.Errorf("%s.%s: offset gives %p, fieldByIndex %p", typ, f.name, got, want)
			}
		}
	}
	si := getStructInfo(reflect.TypeFor[onceHops]())
	for name, direct := range map[string]bool{"A": true, "AS": true, "B": false, "C": true, "Top": true, "Inner": false} {
		if f := si.fields[name]; f == nil || f.direct != direct {
			t.Errorf("onceHops.%s: direct = %v, want %v", name, f != nil && f.direct, direct)
		}
	}
}

// Keys in another order than encoding/json's (the next-field guess misses)
// decode the same.
func TestDecodeOnceAnyKeyOrder(t *testing.T) {
	for _, g := range []string{"create-cli-20.10.json", "create-cli-28.json"} {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader([]byte(readGolden(t, g))))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		sorted, err := json.Marshal(m) // keys sorted by name at every level
		if err != nil {
			t.Fatal(err)
		}
		checkAllTypes(t, sorted)
		var b createBody
		if err := decodeOnce(sorted, reflect.ValueOf(&b).Elem()); err != nil {
			t.Errorf("%s with sorted keys: single pass fell back: %v", g, err)
		}
	}
}

func TestStructInfoNextIsIndexOrder(t *testing.T) {
	si := getStructInfo(reflect.TypeFor[createBody]())
	n := 0
	for f := si.first; f != nil; f = f.next {
		if f.next != nil && compareIndex(f.index, f.next.index) >= 0 {
			t.Fatalf("%s (%v) before %s (%v)", f.name, f.index, f.next.name, f.next.index)
		}
		n++
	}
	if n != len(si.list) {
		t.Fatalf("next chain has %d fields, the struct %d", n, len(si.list))
	}
}

func compareIndex(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return len(a) - len(b)
}

// skip is ignore minus the keys that fold to a field, for every type with
// ignored keys.
func TestStructInfoSkip(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[createBody](), reflect.TypeFor[onceAll](),
	} {
		for _, ti := range collectStructs(typ, map[reflect.Type]bool{}) {
			si := ti.si
			for k := range si.ignore {
				if want := si.ignore[k] && !si.foldsToField(k); si.skip[k] != want {
					t.Errorf("%s: skip[%q] = %v, want %v", si.label, k, si.skip[k], want)
				}
			}
			for k := range si.skip {
				if !si.ignore[k] {
					t.Errorf("%s: skip[%q] without ignore", si.label, k)
				}
			}
		}
	}
	if len(getStructInfo(reflect.TypeFor[createBody]()).skip) != 0 {
		t.Errorf("createBody has no ignored keys of its own")
	}
}

// collectStructs returns the typeInfo of every struct type reachable from t.
func collectStructs(t reflect.Type, seen map[reflect.Type]bool) []*typeInfo {
	ti := getTypeInfo(t)
	if seen[ti.t] {
		return nil
	}
	seen[ti.t] = true
	var out []*typeInfo
	switch ti.t.Kind() {
	case reflect.Struct:
		if ti.si == nil {
			return nil
		}
		out = append(out, ti)
		for _, f := range ti.si.list {
			out = append(out, collectStructs(f.typ, seen)...)
		}
	case reflect.Slice, reflect.Array, reflect.Map:
		out = append(out, collectStructs(ti.t.Elem(), seen)...)
	}
	return out
}

// firstSpecial is the index of the first '"', '\\' or control byte of w,
// or 8.
func firstSpecial(w [8]byte) int {
	for i, c := range w {
		if c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return 8
}

// specialStringMask finds the first '"', '\\' or control byte exactly,
// wherever it is and whatever the other seven bytes are, and reports none
// when there is none.
func TestSpecialStringMask(t *testing.T) {
	check := func(w [8]byte) {
		t.Helper()
		m := specialStringMask(binary.LittleEndian.Uint64(w[:]))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if want := firstSpecial(w); got != want {
			t.Fatalf("% x: first special byte at %d, mask says %d", w, want, got)
		}
	}
	fillers := []byte{'a', ' ', '~', 0x7f, 0x80, 0x81, 0xa0, 0xa2, 0xdc, 0xff, '!', '#', '[', ']', '0', 0x00, 0x1f, '"', '\\'}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			for _, f := range fillers {
				var w [8]byte
				for i := range w {
					w[i] = f
				}
				w[pos] = byte(c)
				check(w)
			}
		}
	}
	// Two chosen bytes at every pair of positions, the others plain.
	for _, a := range []byte{0, 0x1f, 0x20, '"', '\\', 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xa0, 0xe0, 0xff} {
		for _, b := range []byte{0, 0x01, 0x1f, 0x20, '"', '\\', 0x23, 0x5c + 1, 0x80, 0xdf, 0xff} {
			for i := 0; i < 8; i++ {
				for j := 0; j < 8; j++ {
					w := [8]byte{'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'}
					w[i], w[j] = a, b
					check(w)
				}
			}
		}
	}
}

func FuzzSpecialStringMask(f *testing.F) {
	f.Add(uint64(0x2222222222222222))
	f.Add(uint64(0x8081a0ff5c5d1f20))
	f.Fuzz(func(t *testing.T, x uint64) {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], x)
		m := specialStringMask(x)
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) / 8
		}
		if want := firstSpecial(w); got != want {
			t.Fatalf("% x: first special byte at %d, mask says %d", w, want, got)
		}
	})
}

// scanStr runs scanner.str on a string literal at the start of data.
func scanStr(data []byte, once bool) (string, int, bool) {
	s := scanner{data: data, once: once}
	v, err := s.str(true)
	return string(v), s.pos, err == nil
}

func FuzzScanString(f *testing.F) {
	for _, seed := range []string{
		`"abc"`, `""`, `"a\"b"`, `"\u00e9xyz12345678"`, "\"a\x01\"", `"unterminated`, `"12345678901234567"`,
		`"\ud800"`, `"\ud83d\ude00"`, "\"\xff\xfe\"", `"a\\"`, `"abcdefgh\"`, "\"abcdefghijklmno\x1f\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != '"' {
			data = append([]byte{'"'}, data...)
		}
		v1, p1, ok1 := scanStr(data, true)
		v2, p2, ok2 := scanStr(data, false)
		if ok1 != ok2 || (ok1 && (v1 != v2 || p1 != p2)) {
			t.Fatalf("%q: once (%q, %d, %v), reference (%q, %d, %v)", data, v1, p1, ok1, v2, p2, ok2)
		}
	})
}

// storeNumber stores what setNumber stores, and refuses what it refuses.
func FuzzStoreNumber(f *testing.F) {
	for _, seed := range []string{
		"0", "-0", "1", "-1", "127", "128", "-128", "-129", "255", "256", "32767", "-32769", "65535", "65536",
		"2147483647", "-2147483649", "4294967296", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "18446744073709551615", "18446744073709551616", "1.5", "1e2", "-0.25",
		"3.4028234663852886e38", "3.5e38", "1e39", "1e-50", "1e400", "123456789012345678901234",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, num string) {
		if !validNumber([]byte(num)) {
			return // the scanner only hands over valid JSON numbers
		}
		checkStoreNumber[int8](t, num, leafInt8)
		checkStoreNumber[int16](t, num, leafInt16)
		checkStoreNumber[int32](t, num, leafInt32)
		checkStoreNumber[int64](t, num, leafInt64)
		checkStoreNumber[int](t, num, leafOf(reflect.TypeFor[int]()))
		checkStoreNumber[uint8](t, num, leafUint8)
		checkStoreNumber[uint16](t, num, leafUint16)
		checkStoreNumber[uint32](t, num, leafUint32)
		checkStoreNumber[uint64](t, num, leafUint64)
		checkStoreNumber[uint](t, num, leafOf(reflect.TypeFor[uint]()))
		checkStoreNumber[uintptr](t, num, leafOf(reflect.TypeFor[uintptr]()))
		checkStoreNumber[float32](t, num, leafFloat32)
		checkStoreNumber[float64](t, num, leafFloat64)
	})
}

func checkStoreNumber[T any](t *testing.T, num string, k leafKind) {
	t.Helper()
	if k != leafOf(reflect.TypeFor[T]()) {
		t.Fatalf("%T: leaf kind %d, leafOf says %d", *new(T), k, leafOf(reflect.TypeFor[T]()))
	}
	var fast, ref T
	errFast := storeNumber(k, unsafe.Pointer(&fast), []byte(num))
	errRef := setNumber(reflect.ValueOf(&ref).Elem(), []byte(num))
	if (errFast == nil) != (errRef == nil) || !reflect.DeepEqual(fast, ref) {
		t.Fatalf("%T %s: storeNumber %v (%v), setNumber %v (%v)", fast, num, fast, errFast, ref, errRef)
	}
}

func TestStoreNumberLimits(t *testing.T) {
	for _, n := range []string{
		strconv.FormatFloat(math.MaxFloat32, 'g', -1, 64), strconv.FormatFloat(-math.MaxFloat32, 'g', -1, 64),
		strconv.FormatFloat(math.SmallestNonzeroFloat32, 'g', -1, 64), "1e308", "-1e308",
	} {
		checkStoreNumber[float32](t, n, leafFloat32)
		checkStoreNumber[float64](t, n, leafFloat64)
	}
}

// [] decodes to a shared empty slice: non-nil, length and capacity 0, so
// that appending to one decoded value never touches another.
func TestEmptySliceShared(t *testing.T) {
	var a, b onceAll
	for _, v := range []*onceAll{&a, &b} {
		if err := decodeOnce([]byte(`{"Sl":[]}`), reflect.ValueOf(v).Elem()); err != nil {
			t.Fatal(err)
		}
	}
	if a.Sl == nil || len(a.Sl) != 0 || cap(a.Sl) != 0 {
		t.Fatalf("[] gave %#v (cap %d)", a.Sl, cap(a.Sl))
	}
	a.Sl = append(a.Sl, "x")
	if len(b.Sl) != 0 || b.Sl == nil {
		t.Fatalf("appending to one decoded slice changed another: %#v", b.Sl)
	}
}

// joinedStrings gives the same strings as converting each part.
func TestJoinedStrings(t *testing.T) {
	for _, parts := range [][][]byte{
		nil, {{}}, {[]byte("a")}, {[]byte("sleep"), []byte("1000")}, {{}, []byte("x"), {}},
		{[]byte("1"), []byte("2"), []byte("3"), []byte("4"), []byte("5"), []byte("6"), []byte("7"), []byte("8"), []byte("9é")},
	} {
		got := joinedStrings(parts)
		if got == nil {
			t.Fatalf("%q: nil slice", parts)
		}
		want := make([]string, len(parts))
		for i, p := range parts {
			want[i] = string(p)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("joinedStrings(%q) = %q", parts, got)
		}
	}
}
