// The public API used from C++: the headers compile with a C++ compiler
// and link (extern "C"); the program checks a round trip through payloads.
#include <prokit.h>

#include <cstring>

int
main ()
{
    prokit_payload_t *payload = prokit_payload_new_string ("from C++");
    bool ok = payload && std::strcmp (prokit_payload_str (payload), "from C++") == 0 &&
              std::strcmp (prokit_strerror (PROKIT_ENOTFOUND), "no such window") == 0;
    prokit_payload_destroy (&payload);
    return ok && payload == nullptr ? 0 : 1;
}
