/* Live-object counters of the debug build (RTCENGINE_DEBUG=1, setup.py).
 *
 * Each _core module keeps a count per class, incremented first thing in
 * __cinit__ and decremented in __dealloc__ (which Cython runs even when
 * __cinit__ raised), and reports them from _live_objects().  In a normal
 * build RTCE_LIVE is 0 and the compiler removes the counting.
 */
#ifndef RTCE_LIVE_H
#define RTCE_LIVE_H

#ifdef RTCENGINE_DEBUG
#define RTCE_LIVE 1
#else
#define RTCE_LIVE 0
#endif

#endif
