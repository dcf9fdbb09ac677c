#ifndef CORSCOPE_CPCAP_SHIM_H
#define CORSCOPE_CPCAP_SHIM_H
#include <pcap/pcap.h>
#endif
