# frr-ha's part of debian/rules (included at its end by scripts/build-debs.sh).
#
# FRR is configured and built by Debian's own rules in build/. Around that:
# - vtysh learns the commands of our modules: their CLI files are handed to
#   vtysh's extract.pl (patch frr-ha/0001), each from a folder named after
#   its daemon;
# - the modules are built with CMake against that same FRR tree (Debian's
#   configure options, our patches), tested unless nocheck, and installed
#   into debian/frr-ha.

FRR_HA_SRC := $(CURDIR)/debian/frr-ha-src
FRR_HA_BUILD := build-frr-ha
FRR_HA_SCAN := $(CURDIR)/$(FRR_HA_BUILD)/vtysh-scan
export VTYSH_EXTRA_SCAN := $(FRR_HA_SCAN)/bgpd/bgpd_ha_vty.c $(FRR_HA_SCAN)/zebra/zebra_ha_vty.c

ifneq (,$(filter nocheck,$(DEB_BUILD_OPTIONS) $(DEB_BUILD_PROFILES)))
  FRR_HA_UNIT_TESTS := OFF
else
  FRR_HA_UNIT_TESTS := ON
endif

execute_before_dh_auto_build:
	mkdir -p $(FRR_HA_SCAN)
	ln -sfn $(FRR_HA_SRC)/bgpd-ext/glue $(FRR_HA_SCAN)/bgpd
	ln -sfn $(FRR_HA_SRC)/zebra-ext/glue $(FRR_HA_SCAN)/zebra

execute_after_dh_auto_build:
	dh_auto_configure --buildsystem=cmake --sourcedirectory=debian/frr-ha-src/debian/modules \
		--builddirectory=$(FRR_HA_BUILD)/modules -- \
		-DFRR_SRC=$(CURDIR) -DFRR_BUILD=$(CURDIR)/build \
		-DFRR_MODULE_DIR=/usr/lib/$(DEB_HOST_MULTIARCH)/frr/modules \
		-DFRR_HA_UNIT_TESTS=$(FRR_HA_UNIT_TESTS)
	dh_auto_build --buildsystem=cmake --builddirectory=$(FRR_HA_BUILD)/modules

execute_after_dh_auto_test:
ifeq ($(FRR_HA_UNIT_TESTS),ON)
	dh_auto_test --buildsystem=cmake --builddirectory=$(FRR_HA_BUILD)/modules
endif

execute_after_dh_auto_install:
	dh_auto_install --buildsystem=cmake --builddirectory=$(FRR_HA_BUILD)/modules \
		--destdir=debian/frr-ha

execute_after_dh_auto_clean:
	rm -rf $(FRR_HA_BUILD)
