package data

import (
	"fmt"
	"strings"
)

// ClassFolder is the folder name of a class in an ImageFolder that gam-native writes. A class
// name may hold any character (torchvision's "T-shirt/top"); the folder name escapes, as %XX of
// each byte, "%", "/", "\", control characters and a leading ".", so it is one path element,
// never hidden, "." or "..", and ClassFromFolder gives the name back. A name without those
// characters is its own folder name ("tshirt_top", "Ankle boot"). The manifest and
// metadata.jsonl keep the true name.
func ClassFolder(name string) string {
	if name == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '%' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f || (i == 0 && c == '.') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ClassFromFolder undoes ClassFolder. A folder name that ClassFolder would not have written (a
// "%" not followed by two hex digits) is an error.
func ClassFromFolder(folder string) (string, error) {
	if folder == "%" {
		return "", nil
	}
	if !strings.Contains(folder, "%") {
		return folder, nil
	}
	var b strings.Builder
	for i := 0; i < len(folder); i++ {
		c := folder[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		var v byte
		if i+2 >= len(folder) || !unhex2(folder[i+1:i+3], &v) {
			return "", fmt.Errorf("folder %q: %% not followed by two hex digits", folder)
		}
		b.WriteByte(v)
		i += 2
	}
	if ClassFolder(b.String()) != folder {
		return "", fmt.Errorf("folder %q is not an escaped class name", folder)
	}
	return b.String(), nil
}

func unhex2(s string, v *byte) bool {
	var n byte
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9':
			n = n<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			n = n<<4 | (c - 'A' + 10)
		default:
			return false
		}
	}
	*v = n
	return true
}
